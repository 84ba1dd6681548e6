import type { FileOperationSink, ObservedFileOperation } from './file-operation.js';
import { SFTP, SftpPacketReader, WireReader, type SftpPacket } from './sftp-packets.js';

const SSH_FX_OK = 0;
const SSH_FX_EOF = 1;
const SSH_FXF_WRITE = 0x02;
const STATUS_NAMES: Record<number, string> = {
  1: 'end of file',
  2: 'no such file',
  3: 'permission denied',
  4: 'failure',
  5: 'bad message',
  8: 'operation unsupported',
};

type Pending =
  | { kind: 'op'; operation: ObservedFileOperation['operation']; path: string; targetPath: string | null; time: Date }
  | { kind: 'open'; path: string; flags: number; time: Date }
  | { kind: 'opendir'; path: string; time: Date }
  | { kind: 'read'; handle: string }
  | { kind: 'write'; handle: string; bytes: number }
  | { kind: 'close'; handle: string; time: Date };

interface OpenFile {
  path: string;
  flags: number;
  read: number;
  written: number;
  opened: Date;
}

/**
 * Watches both directions of an SFTP channel and reports each file operation once it is
 * answered: open (and its failure), read and write (bytes per opened file, reported when it
 * is closed), remove, rename, mkdir, rmdir, setstat, symlink, directory listings. It only
 * observes: bytes are forwarded unchanged whatever it makes of them.
 */
export class SftpObserver {
  private readonly pending = new Map<number, Pending>();
  private readonly files = new Map<string, OpenFile>();
  private readonly directories = new Set<string>();
  private readonly requests: SftpPacketReader;
  private readonly responses: SftpPacketReader;

  constructor(private readonly sink: FileOperationSink) {
    this.requests = new SftpPacketReader((packet) => this.request(packet));
    this.responses = new SftpPacketReader((packet) => this.response(packet));
  }

  /** Why the stream could not be followed (not SFTP after all), if it could not. */
  get broken(): string | null {
    return this.requests.broken ?? this.responses.broken;
  }

  fromClient(chunk: Buffer): void {
    this.requests.push(chunk);
  }

  fromServer(chunk: Buffer): void {
    this.responses.push(chunk);
  }

  /** The channel ended: files still open are reported with what they moved. */
  finish(): void {
    for (const [handle, file] of this.files) this.reportClosed(handle, file, new Date());
    this.files.clear();
  }

  private request(packet: SftpPacket): void {
    const wire = new WireReader(packet.head);
    const id = wire.uint32();
    if (id === null || packet.type === SFTP.INIT) return;
    const now = new Date();
    const op = (operation: ObservedFileOperation['operation'], path: string | null, targetPath: string | null = null) => {
      if (path !== null) this.pending.set(id, { kind: 'op', operation, path, targetPath, time: now });
    };
    switch (packet.type) {
      case SFTP.OPEN: {
        const path = wire.string();
        const flags = wire.uint32();
        if (path !== null) this.pending.set(id, { kind: 'open', path, flags: flags ?? 0, time: now });
        return;
      }
      case SFTP.OPENDIR: {
        const path = wire.string();
        if (path !== null) this.pending.set(id, { kind: 'opendir', path, time: now });
        return;
      }
      case SFTP.READ: {
        const handle = wire.bytes();
        if (handle && this.files.has(handle.toString('hex'))) this.pending.set(id, { kind: 'read', handle: handle.toString('hex') });
        return;
      }
      case SFTP.WRITE: {
        const handle = wire.bytes();
        wire.uint64();
        const bytes = wire.uint32();
        if (handle && bytes !== null) this.pending.set(id, { kind: 'write', handle: handle.toString('hex'), bytes });
        return;
      }
      case SFTP.CLOSE: {
        const handle = wire.bytes();
        if (handle) this.pending.set(id, { kind: 'close', handle: handle.toString('hex'), time: now });
        return;
      }
      case SFTP.REMOVE:
        return op('remove', wire.string());
      case SFTP.MKDIR:
        return op('mkdir', wire.string());
      case SFTP.RMDIR:
        return op('rmdir', wire.string());
      case SFTP.SETSTAT:
        return op('setstat', wire.string());
      case SFTP.FSETSTAT: {
        const handle = wire.bytes();
        const file = handle ? this.files.get(handle.toString('hex')) : undefined;
        return op('setstat', file?.path ?? null);
      }
      case SFTP.RENAME:
        return op('rename', wire.string(), wire.string());
      case SFTP.SYMLINK:
        // OpenSSH sends (target, link name), the reverse of the draft; kept as sent.
        return op('symlink', wire.string(), wire.string());
      case SFTP.EXTENDED: {
        const name = wire.string();
        if (name === 'posix-rename@openssh.com') return op('rename', wire.string(), wire.string());
        if (name === 'hardlink@openssh.com') return op('link', wire.string(), wire.string());
        if (name === 'lsetstat@openssh.com') return op('setstat', wire.string());
        return;
      }
    }
  }

  private response(packet: SftpPacket): void {
    const wire = new WireReader(packet.head);
    const id = wire.uint32();
    if (id === null || packet.type === SFTP.VERSION) return;
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (packet.type === SFTP.STATUS) {
      const code = wire.uint32() ?? 4;
      const message = wire.string();
      this.status(pending, code, message || STATUS_NAMES[code] || `status ${code}`);
    } else if (packet.type === SFTP.HANDLE) {
      const handle = wire.bytes();
      if (!handle) return;
      if (pending.kind === 'open') {
        this.files.set(handle.toString('hex'), { path: pending.path, flags: pending.flags, read: 0, written: 0, opened: pending.time });
        this.report({ time: pending.time, operation: 'open', path: pending.path, targetPath: null, bytes: null, result: 'ok', error: null });
      } else if (pending.kind === 'opendir') {
        this.directories.add(handle.toString('hex'));
        this.report({ time: pending.time, operation: 'list', path: pending.path, targetPath: null, bytes: null, result: 'ok', error: null });
      }
    } else if (packet.type === SFTP.DATA && pending.kind === 'read') {
      const bytes = wire.uint32();
      const file = this.files.get(pending.handle);
      if (file && bytes !== null) file.read += bytes;
    }
  }

  private status(pending: Pending, code: number, message: string): void {
    const ok = code === SSH_FX_OK;
    const error = ok ? null : message;
    switch (pending.kind) {
      case 'op':
        return this.report({
          time: pending.time,
          operation: pending.operation,
          path: pending.path,
          targetPath: pending.targetPath,
          bytes: null,
          result: ok ? 'ok' : 'error',
          error,
        });
      case 'open':
        return this.report({ time: pending.time, operation: 'open', path: pending.path, targetPath: null, bytes: null, result: ok ? 'ok' : 'error', error });
      case 'opendir':
        return this.report({ time: pending.time, operation: 'list', path: pending.path, targetPath: null, bytes: null, result: ok ? 'ok' : 'error', error });
      case 'write': {
        const file = this.files.get(pending.handle);
        if (!file) return;
        if (ok) file.written += pending.bytes;
        else this.report({ time: new Date(), operation: 'write', path: file.path, targetPath: null, bytes: null, result: 'error', error });
        return;
      }
      case 'read':
        if (code !== SSH_FX_EOF) {
          const file = this.files.get(pending.handle);
          if (file) this.report({ time: new Date(), operation: 'read', path: file.path, targetPath: null, bytes: null, result: 'error', error });
        }
        return;
      case 'close': {
        if (this.directories.delete(pending.handle)) return;
        const file = this.files.get(pending.handle);
        if (!file) return;
        this.files.delete(pending.handle);
        this.reportClosed(pending.handle, file, pending.time);
        return;
      }
    }
  }

  private reportClosed(_handle: string, file: OpenFile, time: Date): void {
    const base = { time, path: file.path, targetPath: null, result: 'ok' as const, error: null };
    if (file.read > 0 || (file.flags & SSH_FXF_WRITE) === 0) this.report({ ...base, operation: 'read', bytes: file.read });
    if (file.written > 0 || (file.flags & SSH_FXF_WRITE) !== 0) this.report({ ...base, operation: 'write', bytes: file.written });
  }

  private report(operation: ObservedFileOperation): void {
    this.sink(operation);
  }
}
