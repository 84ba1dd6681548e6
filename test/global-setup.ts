import { ensureStoreTemplate } from './helpers/store-template.js';

/** Runs once before all test files: builds the migrated embedded-store template. */
export default async function setup(): Promise<void> {
  process.env.CUSTOS_TEST_STORE_TEMPLATE = await ensureStoreTemplate();
}
