import { connectDatabase } from './connect.js';
import { toStoreError } from './error-translation.js';

/**
 * `node initialise-main.js <url> <options>`: creates and migrates an embedded store, then
 * exits. Run as a child process so that everything initdb allocates goes with it.
 * On failure it prints the StoreError as one JSON line and exits 1.
 */
const [url, options] = process.argv.slice(2) as [string, string];
try {
  const database = await connectDatabase(url, JSON.parse(options) as object);
  await database.close();
  process.exit(0);
} catch (err) {
  const error = toStoreError(err);
  // Exit once the line is out (a pipe is written asynchronously), whatever PGlite left open.
  process.stdout.write(`${JSON.stringify({ code: error.code, message: error.message })}\n`, () => process.exit(1));
}
