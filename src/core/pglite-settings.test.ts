import { describe, expect, it } from 'vitest';
import { PGLITE_DEFAULTS, parsePgliteLocation, withPgliteSettings } from './pglite-settings.js';

describe('embedded store settings in the store URL', () => {
  it('gives the defaults to a bare directory', () => {
    expect(parsePgliteLocation('/var/lib/custos/store')).toEqual({ dataDir: '/var/lib/custos/store', settings: PGLITE_DEFAULTS });
  });

  it('reads every setting after the directory', () => {
    const parsed = parsePgliteLocation('/data/store?sharedBuffers=64MB&workMem=512kB&maintenanceWorkMem=1GB&optimizingCompiler=true');
    expect(parsed).toEqual({
      dataDir: '/data/store',
      settings: { sharedBuffers: '64MB', workMem: '512kB', maintenanceWorkMem: '1GB', optimizingCompiler: true },
    });
  });

  it('round-trips what withPgliteSettings writes, and writes nothing for defaults', () => {
    expect(withPgliteSettings('pglite:///d', { ...PGLITE_DEFAULTS })).toBe('pglite:///d');
    const url = withPgliteSettings('pglite:///d', { sharedBuffers: '32MB', optimizingCompiler: true });
    expect(url).toBe('pglite:///d?sharedBuffers=32MB&optimizingCompiler=true');
    expect(parsePgliteLocation(url.slice('pglite://'.length)).settings).toEqual({ ...PGLITE_DEFAULTS, sharedBuffers: '32MB', optimizingCompiler: true });
    expect(withPgliteSettings('pglite:///d?workMem=8MB', { sharedBuffers: '32MB' })).toBe('pglite:///d?workMem=8MB&sharedBuffers=32MB');
  });

  it.each([
    ['sharedBuffers=16mb', /sharedBuffers must be a size such as 16MB \(units kB, MB, GB\), got "16mb"/],
    ['sharedBuffers=16', /sharedBuffers must be a size/],
    ['sharedBuffers=64kB', /sharedBuffers must be between 128kB and 1GB, got 64kB/],
    ['sharedBuffers=2GB', /sharedBuffers must be between 128kB and 1GB, got 2GB/],
    ['maintenanceWorkMem=512kB', /maintenanceWorkMem must be between 1MB and 1GB/],
    ['optimizingCompiler=yes', /optimizingCompiler must be true or false, got "yes"/],
    ['shared_buffers=16MB', /unknown embedded store setting "shared_buffers" \(known: sharedBuffers, workMem, maintenanceWorkMem, optimizingCompiler\)/],
  ])('refuses %s with a message that says what is expected', (query, message) => {
    expect(() => parsePgliteLocation(`/d?${query}`)).toThrow(message);
  });
});
