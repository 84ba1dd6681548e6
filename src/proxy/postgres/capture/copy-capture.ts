/**
 * COPY as the query log keeps it: which way, and how many bytes of data passed — never the
 * data. The COPY's statement row gets these details when the COPY completes or fails.
 */
export class CopyCapture {
  private direction: 'in' | 'out' | null = null;
  private bytes = 0;

  /** CopyInResponse, CopyOutResponse or CopyBothResponse started a COPY. */
  start(direction: 'in' | 'out'): void {
    this.direction = direction;
    this.bytes = 0;
  }

  /** A CopyData message from the client. */
  fromClient(length: number): void {
    if (this.direction === 'in') this.bytes += length;
  }

  /** A CopyData message from the server. */
  fromServer(length: number): void {
    if (this.direction === 'out') this.bytes += length;
  }

  /** The details of a COPY that just ended, or null when none was running. */
  end(): { copy: 'in' | 'out'; copyBytes: number } | null {
    if (!this.direction) return null;
    const outcome = { copy: this.direction, copyBytes: this.bytes };
    this.direction = null;
    this.bytes = 0;
    return outcome;
  }
}
