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
export { runAdapterContract } from './adapter-contract/run-adapter-contract.js'
export { storeWithAppend } from './store-contract/store-with-append.js'
export { storeWithCalls } from './store-contract/store-with-calls.js'
export { waitFor } from './wait-for.js'
export { startSourceScript } from './processes/source-script.js'
export type { SourceScript, SourceScriptOptions } from './processes/source-script.js'
export { chaosSeeds, seedLabel, seededRandom } from './chaos/seeded-random.js'
export type { SeededRandom } from './chaos/seeded-random.js'
export type { AdapterAppOptions, AdapterHarness, RunningAdapterApp } from './adapter-contract/run-adapter-contract.js'
export {
  FIXTURE_DEFAULT_TENANT,
  FIXTURE_PRINCIPALS,
  FIXTURE_SYSTEM_ACTOR,
  LATE_FORCE_DELAY_MS,
  SLOW_HANDLER_MS,
  slowHandlerStarts,
  FIXTURE_TENANT_HEADER,
  FIXTURE_TOKENS,
  authenticateFixture,
  createFixtureRoutes,
  fixtureActor,
  fixtureTenant,
} from './adapter-contract/fixture-app.js'
export type { FixtureMethod, FixturePrincipal, FixtureRequest, FixtureResponse, FixtureRoute } from './adapter-contract/fixture-app.js'
export {
  createSelfSignedCert,
  decodeExportLogsRequest,
  encodeExportLogsResponse,
  expectCompleteDelivery,
  startOtlpReceiver,
} from './otlp-receiver/index.js'
export type {
  OtlpReceiver,
  OtlpReceiverOptions,
  OtlpValue,
  ReceivedLogRecord,
  ReceivedRequest,
  ReceiverFailure,
  ReceiverProtocol,
} from './otlp-receiver/index.js'
export { expectAdminMountServesEveryRoute, expectExportRecordsIpv4Client, openAdminMountStore, siemSettingsInState } from './admin-mount/admin-mount-fixture.js'
export type { AdminMountStore } from './admin-mount/admin-mount-fixture.js'
export { runInRounds, startRoundWorker } from './processes/round-workers.js'
export type { RoundWorker } from './processes/round-workers.js'
