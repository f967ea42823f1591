// How many bytes the operating system holds on one TCP connection between two local sockets:
// what the sending end has in its send queue (written, not yet read by the peer) and what the
// receiving end has in its receive queue (arrived, not yet read by the program). Phase 2.6
// subtracts this from what a silent client reads in the end, to find what the server itself had
// waiting for it (spec/02-chat.md, section 9, item 2: the OS's buffers do not count).
//
// Linux publishes both queues, per socket, in /proc/net/tcp and /proc/net/tcp6 (the tx_queue
// and rx_queue columns, in hex). Elsewhere there is no such file, and this returns undefined:
// the caller must then say what it could not measure. Not a test file (no phase id in its name).
import { readFileSync } from 'node:fs';

interface Row {
  localPort: number;
  remotePort: number;
  txQueue: number;
  rxQueue: number;
}

function rows(): Row[] | undefined {
  const found: Row[] = [];
  let any = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    any = true;
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue ...
      const fields = line.trim().split(/\s+/);
      if (fields.length < 5) continue;
      const port = (address: string) => parseInt(address.split(':').pop()!, 16);
      const [tx, rx] = fields[4]!.split(':').map((hex) => parseInt(hex, 16));
      found.push({ localPort: port(fields[1]!), remotePort: port(fields[2]!), txQueue: tx!, rxQueue: rx! });
    }
  }
  return any ? found : undefined;
}

/**
 * Bytes the OS holds from the program on `senderPort` to the socket on `receiverPort` (both on
 * this machine): the sender's send queue plus the receiver's receive queue. Undefined where the
 * OS does not say, or when either socket is not found.
 */
export function osHeldBytes(senderPort: number, receiverPort: number): number | undefined {
  const all = rows();
  if (!all) return undefined;
  const sending = all.find((r) => r.localPort === senderPort && r.remotePort === receiverPort);
  const receiving = all.find((r) => r.localPort === receiverPort && r.remotePort === senderPort);
  if (!sending || !receiving) return undefined;
  return sending.txQueue + receiving.rxQueue;
}
