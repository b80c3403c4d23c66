import { describeAdminApi } from './fixtures/admin-http-suite.js'
import { startHonoAdmin } from './fixtures/admin-servers.js'

describeAdminApi('admin routes over HTTP: Hono', startHonoAdmin)
