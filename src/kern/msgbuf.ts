/**
 * The kernel message buffer (dmesg): a bounded ring of timestamped lines.
 * Like Linux's printk ring, old lines fall off; nothing here grows unbounded.
 */

export type LogLevel = 'emerg' | 'alert' | 'crit' | 'err' | 'warning' | 'notice' | 'info' | 'debug';

export interface MsgLine {
  /** Monotonic ns since boot. */
  ns: bigint;
  level: LogLevel;
  text: string;
}

export class MsgBuf {
  private readonly lines: MsgLine[] = [];
  readonly limit: number;
  dropped = 0;

  constructor(limit = 4096) {
    this.limit = limit;
  }

  add(line: MsgLine): void {
    if (this.lines.length >= this.limit) {
      this.lines.shift();
      this.dropped++;
    }
    this.lines.push(line);
  }

  /** Forget every line (syslog(2) SYSLOG_ACTION_CLEAR). */
  clear(): void {
    this.lines.length = 0;
  }

  all(): readonly MsgLine[] {
    return this.lines;
  }

  /** Linux dmesg format: `[    0.001234] text`. */
  format(): string {
    return this.lines
      .map((l) => {
        const s = (Number(l.ns) / 1e9).toFixed(6).padStart(12, ' ');
        return `[${s}] ${l.text}`;
      })
      .join('\n');
  }
}
