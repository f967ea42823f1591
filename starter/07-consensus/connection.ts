// One incoming connection: bytes in, frames out (spec/03-protocol.md, sections 2, 6 and 7). The
// same port serves clients and the other replicas (spec/06-replication.md, section 1).
//
// A frame of a replica message (types 200 to 205) goes to the replica and is never answered here:
// replicas answer each other on the connections they opened themselves. Any other frame is a
// client's request. Only the primary serves requests; every other role answers `not-primary`,
// except PING and STATUS.
//
// A reply or a push is not written at once: it joins `held` with the index of the last record
// appended before it was made, and goes out once the commit index reaches that index (the Outbox
// calls release()). Holding pushes and replies in one list keeps their order on the connection.
// A held frame that carries messages delivers them only when it is written; if the connection
// closes first, they were not delivered, and the service queues them again.
import type net from 'node:net';
import { FrameReader, FrameTooLarge, encodeFrame, type Frame } from './frames.js';
import { decodeValue } from './decode.js';
import { encodeValue } from './encode.js';
import { ProtocolError, Type, errorReply, isReplicaMessage, isRequestType, messageValue, notPrimary, type Reply } from './messages.js';
import type { Replica } from './node.js';
import type { Session } from './service.js';
import { DecodeError, valueMap, type Value } from './values.js';

/** How long a connection closed for a frame over the maximum may linger if the client ignores it. */
const lingerMs = 5_000;

export function serveConnection(socket: net.Socket, replica: Replica): void {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  const reader = new FrameReader();
  const held: { frame: Buffer; delivers: bigint[]; needs: bigint }[] = [];
  let closing = false;
  let closed = false;
  /** The client closed its side (a FIN): we close ours once its replies are written. */
  let peerEnded = false;
  let isClient = false;

  const holder = {
    release(commit: bigint): boolean {
      while (held.length > 0 && held[0]!.needs <= commit) {
        const { frame, delivers } = held.shift()!;
        // A client that does not read stops us reading its requests (see 'drain').
        if (!socket.write(frame, delivers.length > 0 ? written(delivers) : undefined)) socket.pause();
      }
      if (held.length > 0) return false;
      if (closing) finishClosing();
      else if (peerEnded) socket.end();
      return true;
    },
  };

  // A frame delivers its messages once the operating system has taken all of it: that is when
  // the write's callback runs. Until then Node may hold it in its own buffer (behind a client
  // that does not read), and if the connection dies first, or the OS refuses the write (the client
  // reset the connection while the frame was held), the callback gets an error: nothing was
  // written, and the messages wait again (spec/05-persistence.md, section 7).
  const written = (delivers: bigint[]) => (error?: Error | null) => {
    if (error) return replica.service.undelivered(delivers);
    replica.service.delivered(delivers);
    replica.outbox.schedule();
  };

  /**
   * Holds `reply` until the records appended so far are committed (or, with `needs` 0, at once: a
   * replica that is not the primary reflects no record in what it answers).
   */
  const send = (reply: Reply, needs = replica.role === 'primary' ? replica.store.lastIndex : 0n): boolean => {
    if (closed || !socket.writable) return false;
    held.push({ frame: encodeFrame(reply.type, encodeValue(reply.payload)), delivers: reply.delivers ?? [], needs });
    replica.outbox.hold(holder);
    return true;
  };
  const session: Session = {
    account: undefined,
    push: (message) => !closing && send({ type: Type.MESSAGE, payload: messageValue(message), delivers: [message.id] }),
  };

  const answer = (frame: Frame): void => {
    try {
      // The type first: a payload's format belongs to its type, so an unknown type's is not decoded.
      if (!isRequestType(frame.type)) throw new ProtocolError('unknown-type', `${frame.type} is not a request type`);
      if (frame.type === Type.STATUS) return void send({ type: Type.REPLICA_STATE, payload: replica.status() }, 0n);
      // Only the primary serves; a backup applies nothing and says where the primary is.
      if (replica.role !== 'primary' && frame.type !== Type.PING) return void send(notPrimary(replica.primaryAddress()), 0n);
      let payload: Value;
      try {
        payload = decodeValue(frame.payload);
      } catch (error) {
        if (error instanceof DecodeError) throw new ProtocolError('bad-payload', error.message);
        throw error;
      }
      send(replica.service.handle(session, frame.type, payload));
    } catch (error) {
      if (error instanceof ProtocolError) send(errorReply(error));
      else throw error;
    }
  };

  const onFrame = (frame: Frame): void => {
    if (isReplicaMessage(frame.type)) {
      replica.receive(frame.type, frame.payload);
      return;
    }
    if (!isClient) {
      isClient = true;
      replica.clients.add(socket);
    }
    answer(frame);
  };

  // After frame-too-large: the error frame goes out with the next release, then our FIN.
  const finishClosing = () => {
    socket.end();
    socket.resume();
    setTimeout(() => socket.destroy(), lingerMs).unref();
  };
  const closeForOversize = (error: FrameTooLarge) => {
    console.log(`${peer}: ${error.message}; closing`);
    send({ type: Type.ERROR, payload: valueMap({ code: 'frame-too-large', message: error.message }) }, 0n);
    closing = true;
    replica.service.disconnect(session);
  };

  socket.on('data', (chunk: Buffer) => {
    if (closing) return;
    reader.push(chunk);
    try {
      for (let frame = reader.next(); frame && !closing; frame = reader.next()) onFrame(frame);
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
    replica.outbox.forget(holder);
    replica.clients.delete(socket);
    // Frames never written delivered nothing: their messages wait again.
    replica.service.undelivered(held.splice(0).flatMap((h) => h.delivers));
    replica.service.disconnect(session);
    if (isClient) console.log(`${peer} disconnected`);
  });
  // A reset or a failed write is the network's doing, not a reason to stop serving the others.
  socket.on('error', (error) => console.log(`${peer}: ${error.message}`));
}
