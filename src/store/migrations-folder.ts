import { fileURLToPath } from 'node:url';

/** The committed drizzle-kit migrations (`drizzle/` at the package root, from src/ or dist/). */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));
