// Context of a NestJS fragment. ConfigModule and @Cron() stand for @nestjs/config and @nestjs/schedule, which the
// workspace does not install.
import { Controller, Get, Injectable, Module, Post } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import type { NestExpressApplication } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { createAuditLogger } from '@auditkit/core'
import type { AuditRequestContext } from '@auditkit/core'
import { createSqliteStore } from '@auditkit/core/sqlite'
import { Audit, AuditContext, AuditIgnore, AuditModule, AuditService } from '@auditkit/nestjs'
import type { AuditModuleOptions, AuditOptionsFactory } from '@auditkit/nestjs'
declare class ConfigModule { static forRoot(): import('@nestjs/common').DynamicModule }
// @nestjs/config 12's ConfigService: get() of an unvalidated config is T | undefined.
declare class ConfigService {
  get<T = any>(key: string): T | undefined
  getOrThrow<T = any>(key: string): Exclude<T, undefined>
}
declare function Cron(expression: string): MethodDecorator
declare class AppModule {}
declare class ProjectsService {
  get(id: string): DocsProject
  update(id: string, input: unknown): DocsProject
  purgeArchived(): Promise<number>
}
type UpdateProject = { name?: string; description?: string }
