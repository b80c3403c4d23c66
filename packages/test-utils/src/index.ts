export {
  DEFAULT_FIXTURE_TENANTS,
  FIXTURE_NOW,
  buildFixtureEvents,
  fixtureSealer,
  seedStore,
  unsealed,
} from './fixtures/build-fixtures.js'
export type { FixtureOptions, FixtureTenant } from './fixtures/build-fixtures.js'
export { ALL_TIME, contractQueries } from './fixtures/contract-queries.js'
export type { ContractQuery } from './fixtures/contract-queries.js'
export { expectedEvents, expectedFacets, matchesFilter, newestFirst } from './fixtures/reference.js'
export { expectIntactChain, readAllPages, runStoreContract } from './store-contract/run-store-contract.js'
export type { StoreContractOptions } from './store-contract/run-store-contract.js'
