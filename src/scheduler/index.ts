export {
  createScheduler,
  type DueJob,
  type Scheduler,
  type SchedulerOptions,
} from "./scheduler.js";
