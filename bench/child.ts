import type { ChildProcess } from 'node:child_process';

/**
 * A bench process (a server or a load client) driven over Node's IPC channel: requests go out as messages,
 * replies come back typed by `type`, and `ready` resolves with the first 'ready' reply.
 */
export class Child<Req, Rep extends { type: string }> {
  private waiting = new Map<string, (reply: Rep) => void>();
  readonly ready: Promise<Rep>;

  constructor(
    readonly process: ChildProcess,
    /** Named processes report a failing exit on stderr. */
    readonly name?: string,
  ) {
    this.ready = this.expect('ready');
    process.on('message', (reply: Rep) => {
      const waiter = this.waiting.get(reply.type);
      this.waiting.delete(reply.type);
      waiter?.(reply);
    });
    if (name)
      process.on('exit', (code) => {
        if (code && code !== 0) console.error(`${name} exited with ${code}`);
      });
  }

  expect<T extends Rep>(type: string): Promise<T> {
    return new Promise((resolve) => this.waiting.set(type, resolve as (reply: Rep) => void));
  }

  ask<T extends Rep>(request: Req, type: string): Promise<T> {
    const answer = this.expect<T>(type);
    this.process.send(request as never);
    return answer;
  }

  send(request: Req) {
    if (this.process.connected) this.process.send(request as never);
  }

  exited(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.process.once('exit', () => resolve()));
  }

  /** Asks the process to close (bench servers close gracefully) and waits for its exit. */
  stop() {
    if (this.process.connected) this.process.send({ cmd: 'close' } as never);
    return this.exited();
  }
}
