// The room: who is here, by name (spec/02-chat.md, sections 3 and 4).
//
// A client is in the room from the moment its name is accepted until it leaves, and a name is
// taken exactly while its owner is in the room. The room knows nothing of sockets: a member is
// anything that can take a line, which keeps this file about who hears what.

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
   * Gives `line` to every member except `except`. Delivering may cut a slow member off, which
   * removes it and tells the others while this loop runs: a Map's iteration allows that, and
   * skips a member removed before its turn.
   */
  broadcast(line: string, except?: Member): void {
    for (const member of this.members.values()) {
      if (member !== except) member.deliver(line);
    }
  }
}
