// One client connection: bytes in, frames out (spec/03-protocol.md, sections 2, 6 and 7), with
// every outgoing frame held until the log is synced (spec/05-persistence.md, section 6).
//
// Incoming bytes go into a FrameReader; each complete frame is answered before the next is read,
// so replies stay in the order the requests came. A reply or a push is not written at once: it
// joins `held`, and the Outbox calls release() once the records appended before it are on disk.
// Holding pushes and replies in one list keeps their order on the connection as lab 3 had it.
//
// A held frame that carries messages (a push, a MESSAGES reply) delivers them only once it is
// written, all of it, to the operating system; then the service records the delivery. If the
// connection closes first, or the write fails, the messages were not delivered, and the service
// queues them again.
import type net from 'node:net';
import { FrameReader, FrameTooLarge, encodeFrame, type Frame } from './frames.js';
import { decodeValue } from './decode.js';
import { encodeValue } from './encode.js';
import { ProtocolError, Type, errorReply, isRequestType, messageValue, type Reply } from './messages.js';
import type { Outbox } from './outbox.js';
import type { Service, Session } from './service.js';
import { DecodeError, valueMap, type Value } from './values.js';

/** How long a connection closed for a frame over the maximum may linger if the client ignores it. */
const lingerMs = 5_000;

export function serveConnection(socket: net.Socket, service: Service, outbox: Outbox): void {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  socket.setNoDelay(true);
  const reader = new FrameReader();
  /** Frames waiting for the log to be durable up to `needs`, in the order they were made. */
  const held: { frame: Buffer; delivers: bigint[]; needs: bigint }[] = [];
  let closing = false;
  let closed = false;
  /** The client closed its side (a FIN): we close ours once its replies are written. */
  let peerEnded = false;

  const holder = {
    release(durable: bigint): boolean {
      // Those ready go out in one system call: small writes one after another would wait on each
      // other's acknowledgements (Nagle's algorithm against the client's delayed ACK).
      socket.cork();
      while (held.length > 0 && held[0]!.needs <= durable) {
        const { frame, delivers } = held.shift()!;
        // A client that does not read stops us reading its requests (see 'drain').
        if (!socket.write(frame, delivers.length > 0 ? written(delivers) : undefined)) socket.pause();
      }
      socket.uncork();
      if (held.length > 0) return true;
      if (closing) finishClosing();
      else if (peerEnded) socket.end();
      return false;
    },
  };

  // A frame delivers its messages once the operating system has taken all of it: that is when
  // the write's callback runs. Until then Node may hold it in its own buffer (behind a client
  // that does not read), and if the connection dies first, or the OS refuses the write (the client
  // reset the connection while the frame was held), the callback gets an error: nothing was
  // written, and the messages wait again.
  const written = (delivers: bigint[]) => (error?: Error | null) => {
    if (error) return service.undelivered(delivers);
    service.delivered(delivers);
    outbox.schedule();
  };

  const send = (reply: Reply): boolean => {
    if (closed || !socket.writable) return false;
    held.push({ frame: encodeFrame(reply.type, encodeValue(reply.payload)), delivers: reply.delivers ?? [], needs: outbox.appended });
    outbox.hold(holder);
    return true;
  };
  const session: Session = {
    account: undefined,
    push: (message) => !closing && send({ type: Type.MESSAGE, payload: messageValue(message), delivers: [message.id] }),
  };

  const answer = (frame: Frame): Reply => {
    try {
      // The type first: a payload's format belongs to its type, so an unknown type's is not decoded.
      if (!isRequestType(frame.type)) throw new ProtocolError('unknown-type', `${frame.type} is not a request type`);
      let payload: Value;
      try {
        payload = decodeValue(frame.payload);
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

  // After frame-too-large: the error frame goes out with the next release, then our FIN.
  const finishClosing = () => {
    socket.end();
    socket.resume();
    setTimeout(() => socket.destroy(), lingerMs).unref();
  };
  const closeForOversize = (error: FrameTooLarge) => {
    console.log(`${peer}: ${error.message}; closing`);
    send({ type: Type.ERROR, payload: valueMap({ code: 'frame-too-large', message: error.message }) });
    closing = true;
    service.disconnect(session);
  };

  socket.on('data', (chunk: Buffer) => {
    if (closing) return;
    reader.push(chunk);
    try {
      for (let frame = reader.next(); frame && !closing; frame = reader.next()) send(answer(frame));
    } catch (error) {
      if (error instanceof FrameTooLarge) closeForOversize(error);
      else throw error;
    }
  });
  socket.on('end', () => {
    peerEnded = true;
    if (held.length === 0 && !closing) socket.end();
  });
  socket.on('drain', () => {
    if (!closing) socket.resume();
  });
  socket.on('close', () => {
    closed = true;
    outbox.forget(holder);
    // Frames never written delivered nothing: their messages wait again.
    service.undelivered(held.splice(0).flatMap((h) => h.delivers));
    service.disconnect(session);
    console.log(`${peer} disconnected`);
  });
  // A reset or a failed write is the network's doing, not a reason to stop serving the others.
  socket.on('error', (error) => console.log(`${peer}: ${error.message}`));
  console.log(`${peer} connected`);
}
