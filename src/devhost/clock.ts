/**
 * The host's clock. Virtual: time stands still until the host jumps it to the next due timer or a
 * test advances it, so a 300 s retry delay costs no wall time. Real: the wall clock.
 */
export type ClockMode = 'virtual' | 'real';

export class HostClock {
  private virtualMs: number;

  constructor(
    readonly mode: ClockMode,
    start: Date,
  ) {
    this.virtualMs = start.getTime();
  }

  now(): Date {
    return new Date(this.mode === 'virtual' ? this.virtualMs : Date.now());
  }

  nowMs(): number {
    return this.mode === 'virtual' ? this.virtualMs : Date.now();
  }

  /** Moves virtual time forward (never back). */
  jumpTo(ms: number): void {
    if (this.mode !== 'virtual') throw new Error('only the virtual clock can be moved');
    if (ms > this.virtualMs) this.virtualMs = ms;
  }
}
