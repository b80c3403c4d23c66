// Context of an Express fragment.
import express from 'express'
import { auditAdminRouter, auditMiddleware } from '@auditkit/express'
declare const app: import('express').Express
declare function search(body: unknown): unknown
