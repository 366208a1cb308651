/**
 * What every wire/ parser returns on bad input: a WireError naming the
 * header and what was wrong with it (the value, so a log line is useful).
 * Parsers never throw on bytes from the wire.
 */
export class WireError {
  readonly header: string;
  readonly reason: string;

  constructor(header: string, reason: string) {
    this.header = header;
    this.reason = reason;
  }

  toString(): string {
    return `${this.header}: ${this.reason}`;
  }
}

export function isWireError(v: unknown): v is WireError {
  return v instanceof WireError;
}
