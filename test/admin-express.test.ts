import { describeAdminApi } from './fixtures/admin-http-suite.js'
import { startExpressAdmin } from './fixtures/admin-servers.js'

describeAdminApi('admin routes over HTTP: Express', startExpressAdmin)
