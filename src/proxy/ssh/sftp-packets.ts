/**
 * SFTP (draft-ietf-secsh-filexfer-02, version 3 as OpenSSH speaks it) packets are
 * `uint32 length, byte type, payload`. The reader splits a byte stream into packets without
 * holding whole packets: it keeps at most `keepLimit(type)` bytes of each payload (enough to
 * read ids, handles and paths) and only counts the rest (file data in WRITE and DATA).
 */
export const SFTP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

export interface SftpPacket {
  type: number;
  /** Payload length after the type byte. */
  length: number;
  /** The first `keepLimit(type)` bytes of the payload. */
  head: Buffer;
}

/** Longer than any packet OpenSSH sends (256 KiB); beyond it the stream is not SFTP. */
export const MAX_SFTP_PACKET = 4 * 1024 * 1024;

export function defaultKeepLimit(type: number): number {
  // WRITE: id, handle (≤ 256 bytes), offset, data length. DATA: id, data length.
  if (type === SFTP.WRITE) return 4 + 4 + 256 + 8 + 4;
  if (type === SFTP.DATA) return 4 + 4;
  return 64 * 1024;
}

export class SftpPacketReader {
  private header = Buffer.alloc(5);
  private headerFill = 0;
  private type = 0;
  private length = 0;
  private remaining = 0;
  private head: Buffer | null = null;
  private headFill = 0;
  broken: string | null = null;

  constructor(
    private readonly onPacket: (packet: SftpPacket) => void,
    private readonly keepLimit: (type: number) => number = defaultKeepLimit,
  ) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.broken) {
      if (this.head === null) {
        const take = Math.min(5 - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + take);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < 5) return;
        const total = this.header.readUInt32BE(0);
        if (total < 1 || total > MAX_SFTP_PACKET) {
          this.broken = `packet length ${total} is not plausible for SFTP`;
          return;
        }
        this.type = this.header[4]!;
        this.length = this.remaining = total - 1;
        this.head = Buffer.alloc(Math.min(this.length, this.keepLimit(this.type)));
        this.headFill = 0;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      const keep = Math.min(take, this.head.length - this.headFill);
      if (keep > 0) {
        chunk.copy(this.head, this.headFill, offset, offset + keep);
        this.headFill += keep;
      }
      offset += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        const packet = { type: this.type, length: this.length, head: this.head };
        this.head = null;
        this.headerFill = 0;
        this.onPacket(packet);
      }
    }
  }
}

/** Reads SSH wire types from a packet head; `null` once past what was kept. */
export class WireReader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  uint32(): number | null {
    if (this.offset + 4 > this.buffer.length) return null;
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint64(): bigint | null {
    if (this.offset + 8 > this.buffer.length) return null;
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  bytes(): Buffer | null {
    const length = this.uint32();
    if (length === null || this.offset + length > this.buffer.length) return null;
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(): string | null {
    return this.bytes()?.toString('utf8') ?? null;
  }
}
