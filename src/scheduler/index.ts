export { createScheduler, type DueJob, type SchedulerOptions } from "./scheduler.js";
