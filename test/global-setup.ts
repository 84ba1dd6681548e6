import { ensureStoreTemplate } from './helpers/store-template.js';
import { ensureViewerBuilt } from './helpers/viewer-build.js';

/** Runs once before all test files: builds the migrated embedded-store template and the viewer. */
export default async function setup(): Promise<void> {
  process.env.CUSTOS_TEST_STORE_TEMPLATE = await ensureStoreTemplate();
  ensureViewerBuilt();
}
