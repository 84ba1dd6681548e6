import { ConfigError } from './errors.js';

/**
 * How the embedded store (PGlite: PostgreSQL compiled to WebAssembly) is sized. PostgreSQL's
 * own defaults suit a database server, not a gateway that embeds one: shared_buffers alone
 * (128MB) is allocated and touched at start inside the WebAssembly memory, and WebAssembly
 * memory never shrinks, so every setting here bounds the resident memory for good.
 *
 * They travel in the store URL (`pglite://DIR?sharedBuffers=32MB`), so every process that
 * opens the store — the gateway, a CLI command while no gateway runs — opens it the same way.
 */
export interface PgliteSettings {
  /** PostgreSQL shared_buffers (the page cache inside the WebAssembly memory). */
  sharedBuffers: string;
  /** PostgreSQL work_mem (per sort or hash before it spills to disk). */
  workMem: string;
  /** PostgreSQL maintenance_work_mem (index builds in migrations, VACUUM). */
  maintenanceWorkMem: string;
  /**
   * Let V8 recompile hot WebAssembly functions with its optimizing compiler (TurboFan).
   * Off: V8's baseline compiler (Liftoff) only. TurboFan's compile memory stays in the
   * process's malloc arenas after each tier-up (70–100 MiB for an idle gateway, more under
   * load) for 15–20% more PGlite throughput once warm.
   */
  optimizingCompiler: boolean;
}

export const PGLITE_DEFAULTS: Readonly<PgliteSettings> = {
  sharedBuffers: '16MB',
  workMem: '4MB',
  maintenanceWorkMem: '16MB',
  optimizingCompiler: false,
};

/** PostgreSQL memory units as postgresql.conf spells them (case matters: kB, MB, GB). */
export const MEMORY_SIZE = /^[1-9]\d*(kB|MB|GB)$/;

// PGlite's WebAssembly memory can grow to 2 GiB; shared_buffers must leave room for the rest.
const SIZE_LIMITS: Record<'sharedBuffers' | 'workMem' | 'maintenanceWorkMem', { min: number; max: number }> = {
  sharedBuffers: { min: 128 * 1024, max: 1024 ** 3 },
  workMem: { min: 64 * 1024, max: 1024 ** 3 },
  maintenanceWorkMem: { min: 1024 * 1024, max: 1024 ** 3 },
};

/** The PostgreSQL setting behind each size. */
export const PGLITE_GUCS = { sharedBuffers: 'shared_buffers', workMem: 'work_mem', maintenanceWorkMem: 'maintenance_work_mem' } as const;

/** Splits `DIR?name=value&…` (the part after `pglite://`) into the directory and its settings. */
export function parsePgliteLocation(location: string): { dataDir: string; settings: PgliteSettings } {
  const at = location.indexOf('?');
  const dataDir = at === -1 ? location : location.slice(0, at);
  const settings: PgliteSettings = { ...PGLITE_DEFAULTS };
  for (const [name, value] of new URLSearchParams(at === -1 ? '' : location.slice(at + 1))) {
    if (name === 'optimizingCompiler') {
      if (value !== 'true' && value !== 'false') throw invalid(`optimizingCompiler must be true or false, got "${value}"`);
      settings.optimizingCompiler = value === 'true';
    } else if (name in SIZE_LIMITS) {
      const key = name as keyof typeof SIZE_LIMITS;
      const bytes = sizeInBytes(value);
      const { min, max } = SIZE_LIMITS[key];
      if (bytes === null) throw invalid(`${name} must be a size such as 16MB (units kB, MB, GB), got "${value}"`);
      if (bytes < min || bytes > max) throw invalid(`${name} must be between ${formatSize(min)} and ${formatSize(max)}, got ${value}`);
      settings[key] = value;
    } else {
      throw invalid(`unknown embedded store setting "${name}" (known: ${[...Object.keys(PGLITE_GUCS), 'optimizingCompiler'].join(', ')})`);
    }
  }
  return { dataDir, settings };
}

/** Appends the settings that differ from the defaults to a `pglite://DIR` URL. */
export function withPgliteSettings(url: string, settings: Partial<PgliteSettings>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(settings)) {
    if (value !== undefined && value !== PGLITE_DEFAULTS[name as keyof PgliteSettings]) query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${url}${url.includes('?') ? '&' : '?'}${text}` : url;
}

function sizeInBytes(text: string): number | null {
  const match = MEMORY_SIZE.exec(text);
  if (!match) return null;
  return Number.parseInt(text, 10) * { kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[match[1] as 'kB' | 'MB' | 'GB'];
}

function formatSize(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${bytes / 1024 ** 3}GB` : bytes >= 1024 ** 2 ? `${bytes / 1024 ** 2}MB` : `${bytes / 1024}kB`;
}

function invalid(message: string): ConfigError {
  return new ConfigError('config_invalid', `embedded store: ${message}`);
}
