// The room: who is here, by name (spec/02-chat.md, sections 3 and 4).
//
// A client is in the room from the moment its name is accepted until it leaves, and a name is
// taken exactly while its owner is in the room. The room knows nothing of sockets: a member is
// anything that can take a line. The registry is done for you; broadcast is yours.
import { NotImplemented } from './todo.js';

export interface Member {
  /** Queues one line for this member; never blocks. */
  deliver(line: string): void;
}

export class Room {
  /** Members by name, in the order they joined. */
  private readonly members = new Map<string, Member>();

  has(name: string): boolean {
    return this.members.has(name);
  }

  find(name: string): Member | undefined {
    return this.members.get(name);
  }

  names(): string[] {
    return [...this.members.keys()];
  }

  add(name: string, member: Member): void {
    this.members.set(name, member);
  }

  remove(name: string): void {
    this.members.delete(name);
  }

  /**
   * Gives `line` to every member except `except` (the sender of a chat line gets no copy).
   *
   * Contract (spec sections 4 and 8): every member but `except` gets the line once, through
   * member.deliver, which never blocks. In phase 2.6, delivering may cut a slow member off,
   * which removes it from the room and tells the others while your loop runs: iterating a Map
   * allows that (a member removed before its turn is skipped).
   */
  broadcast(line: string, except?: Member): void {
    throw new NotImplemented('2.1', 'Room.broadcast in room.ts');
  }
}
