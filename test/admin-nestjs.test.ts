import 'reflect-metadata'
import { describeAdminApi } from './fixtures/admin-http-suite.js'
import { startNestAdmin } from './fixtures/admin-servers.js'

describeAdminApi('admin routes over HTTP: NestJS', startNestAdmin)
