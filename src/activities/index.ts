export { createStepActivities, type StepActivities, type StepActivityDeps, type RunNotifier, type UserStepHandler } from './stepActivities';
export { stepActivityInputSchema, pollActivityInputSchema, cancelActivityInputSchema, finishRunInputSchema } from './schemas';
