export {
  type AuditService,
  type AuditServiceOptions,
  createAuditService,
} from "./audit-service.js";
export {
  createScheduler,
  type DueJob,
  type Scheduler,
  type SchedulerOptions,
} from "./scheduler.js";
