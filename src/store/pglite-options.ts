import { PGLITE_GUCS, type PgliteSettings } from '../core/pglite-settings.js';

/** PostgreSQL start-up parameters (`-c name=value`) for the settings, to follow PGlite's own. */
export function pgliteMemoryParams(settings: PgliteSettings): string[] {
  return Object.entries(PGLITE_GUCS).flatMap(([key, guc]) => ['-c', `${guc}=${settings[key as keyof typeof PGLITE_GUCS]}`]);
}

/**
 * V8 reads its WebAssembly compiler flags when it compiles a function, and PGlite's module
 * compiles lazily, so these apply from the next PGlite.create on. They are process-wide:
 * PGlite is the only WebAssembly in the gateway.
 */
export function v8WasmFlags(settings: PgliteSettings): string {
  return settings.optimizingCompiler ? '--no-liftoff-only' : '--liftoff-only';
}
