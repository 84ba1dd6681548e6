import { AsciicastFile } from './asciicast-file.js';
import { ByteRecordingFile } from './byte-recording-file.js';
import type { RecordingFileWriter, RecordingFormat } from './recording-batch.js';

/** Creates the file (never overwrites one) and writes its header. */
export function createRecordingFile(path: string, format: RecordingFormat): RecordingFileWriter {
  return format.format === 'bytes' ? ByteRecordingFile.create(path, format.header) : AsciicastFile.create(path, format.header);
}
