/** A file operation seen in an SFTP or scp channel, before it gets its session and channel. */
export interface ObservedFileOperation {
  time: Date;
  operation: 'open' | 'read' | 'write' | 'remove' | 'rename' | 'mkdir' | 'rmdir' | 'list' | 'setstat' | 'symlink' | 'link';
  path: string;
  targetPath: string | null;
  bytes: number | null;
  result: 'ok' | 'error';
  error: string | null;
}

export type FileOperationSink = (operation: ObservedFileOperation) => void;
