/**
 * SIGINT/SIGTERM during training: the first signal asks the loop to stop after the current step
 * (it then checkpoints and exits); a second one restores the default action and re-raises, which
 * ends the process at once. That is as safe as `kill -9`: every file the loop writes is replaced
 * atomically, so the last checkpoint stays intact.
 */

export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type InterruptSignal = (typeof INTERRUPT_SIGNALS)[number];

export class InterruptFlag {
  private signal: InterruptSignal | null = null;
  private readonly handler = (signal: NodeJS.Signals): void => this.receive(signal as InterruptSignal);
  private installed = false;

  constructor(private readonly notify: (line: string) => void = () => {}) {}

  /** The first signal received, or null. */
  get requested(): InterruptSignal | null {
    return this.signal;
  }

  /** Marks a stop request (what a received signal does). */
  request(signal: InterruptSignal): void {
    if (this.signal === null) this.signal = signal;
  }

  install(): this {
    if (!this.installed) {
      for (const s of INTERRUPT_SIGNALS) process.on(s, this.handler);
      this.installed = true;
    }
    return this;
  }

  dispose(): void {
    if (!this.installed) return;
    for (const s of INTERRUPT_SIGNALS) process.removeListener(s, this.handler);
    this.installed = false;
  }

  private receive(signal: InterruptSignal): void {
    if (this.signal === null) {
      this.signal = signal;
      this.notify(`${signal} received: stopping after the current step and saving a checkpoint (send it again to stop immediately)`);
      return;
    }
    this.dispose();
    process.kill(process.pid, signal);
  }
}

