// One client connection: bytes in, frames out (spec/03-protocol.md, sections 2, 6 and 7).
//
// Incoming bytes go into a FrameReader; each complete frame is answered before the next is read,
// so replies leave in the order the requests came. A frame is checked in the order section 6
// gives: the length (in the FrameReader), the type, the payload's decoding, then the service's own
// checks. Every problem up to here is an error reply and the connection goes on, because the
// header told us where the next frame starts. The one exception is a frame over the maximum: we
// will not read its payload, so we no longer know where the next frame starts, and we close.
//
// Anything other than a ProtocolError or a DecodeError thrown while answering is a bug in this
// server, not bad input, and is left to surface rather than be hidden.
import type net from 'node:net';
import { FrameReader, FrameTooLarge, encodeFrame, maxPayload, type Frame } from './frames.js';
import { ProtocolError, Type, errorReply, isRequestType, messageValue, type Reply } from './messages.js';
import type { Service, Session } from './service.js';
import { DecodeError, valueMap, type Value } from './values.js';
import type { Wire } from './wire.js';

/** How long a connection closed for a frame over the maximum may linger if the client ignores it. */
const lingerMs = 5_000;

export function serveConnection(socket: net.Socket, service: Service, wire: Wire): void {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  const reader = new FrameReader();
  let closing = false;

  const send = (reply: Reply): boolean => {
    if (closing || !socket.writable) return false;
    let payload = wire.encode(reply.payload);
    // Only a JSON PONG can outgrow a frame (its value written out in canonical form, `1e15` as
    // 1000000000000000): it is answered as a request out of range instead (spec section 5.1).
    if (payload.length > maxPayload) {
      const error = new ProtocolError('bad-request', `the reply would be ${payload.length} bytes, over the maximum of ${maxPayload}`);
      reply = errorReply(error);
      payload = wire.encode(reply.payload);
    }
    // A client that does not read its replies stops us reading its requests (see 'drain').
    if (!socket.write(encodeFrame(reply.type, payload))) socket.pause();
    return true;
  };
  const session: Session = {
    account: undefined,
    push: (message) => send({ type: Type.MESSAGE, payload: messageValue(message) }),
  };

  const answer = (frame: Frame): Reply => {
    try {
      // The type first: a payload's format belongs to its type, so an unknown type's is not decoded.
      if (!isRequestType(frame.type)) throw new ProtocolError('unknown-type', `${frame.type} is not a request type`);
      let payload: Value;
      try {
        payload = wire.decode(frame.payload);
      } catch (error) {
        if (error instanceof DecodeError) throw new ProtocolError('bad-payload', error.message);
        throw error;
      }
      return service.handle(session, frame.type, payload);
    } catch (error) {
      if (error instanceof ProtocolError) return errorReply(error);
      throw error;
    }
  };

  const closeForOversize = (error: FrameTooLarge) => {
    console.log(`${peer}: ${error.message}; closing`);
    send({ type: Type.ERROR, payload: valueMap({ code: 'frame-too-large', message: error.message }) });
    closing = true;
    service.disconnect(session);
    // Our FIN follows the error frame. Whatever the client still sends is read and dropped, so the
    // close stays orderly; a client that never closes its side is cut off after a while.
    socket.end();
    socket.resume();
    setTimeout(() => socket.destroy(), lingerMs).unref();
  };

  socket.on('data', (chunk: Buffer) => {
    if (closing) return;
    reader.push(chunk);
    try {
      for (let frame = reader.next(); frame; frame = reader.next()) send(answer(frame));
    } catch (error) {
      if (error instanceof FrameTooLarge) closeForOversize(error);
      else throw error;
    }
  });
  socket.on('drain', () => {
    if (!closing) socket.resume();
  });
  socket.on('close', () => {
    service.disconnect(session);
    console.log(`${peer} disconnected`);
  });
  // A reset or a failed write is the network's doing, not a reason to stop serving the others.
  socket.on('error', (error) => console.log(`${peer}: ${error.message}`));
  console.log(`${peer} connected`);
}
