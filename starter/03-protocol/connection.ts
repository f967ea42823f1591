// One client connection: bytes in, frames out (spec/03-protocol.md, sections 2, 6 and 7).
import type net from 'node:net';
import type { Service } from './service.js';
import { NotImplemented } from './todo.js';
import type { Wire } from './wire.js';

/**
 * Serves one client, from the moment it connects until the connection ends.
 *
 * Contract:
 * - feed every 'data' chunk to a FrameReader and answer each complete frame in turn, so replies
 *   leave in the order requests came;
 * - check each frame in the order of section 6: type (isRequestType, else `unknown-type`, without
 *   decoding the payload), payload (wire.decode; a DecodeError becomes `bad-payload`), then
 *   service.handle(), which throws ProtocolError for everything else; a ProtocolError becomes an
 *   ERROR reply (errorReply) and the connection goes on;
 * - a FrameTooLarge from the reader: send the `frame-too-large` ERROR, then close your side
 *   (socket.end()) and stop answering: framing is lost;
 * - give the service a Session whose push(message) writes a MESSAGE frame (type 150, payload
 *   messageValue(message)) and returns false if the connection is closing;
 * - on 'close', call service.disconnect(session); on 'error', log it and carry on: one client's
 *   trouble must never crash the server;
 * - each frame out is encodeFrame(type, wire.encode(payload)); a reply whose payload would be over
 *   maxPayload (only a JSON PONG can be) is sent as a `bad-request` ERROR instead;
 * - "closing" (push returns false) starts when the client's FIN is read, when you decide to
 *   close, or when the connection fails; frames received before the FIN are still answered.
 *
 * Useful: socket.on('data' | 'close' | 'error' | 'drain'), socket.write(), socket.end().
 */
export function serveConnection(socket: net.Socket, service: Service, wire: Wire): void {
  throw new NotImplemented('3.1', 'serveConnection in connection.ts');
}
