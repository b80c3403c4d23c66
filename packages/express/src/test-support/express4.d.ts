// Express 4 is installed as `express4` (npm alias) so that the adapter contract runs on both majors.
declare module 'express4' {
  import express from 'express'
  export default express
}
