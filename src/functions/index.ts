/** Registers every function. Each registration file is a thin layer over plain modules. */
import { registerStepActivities } from './activities';
import { registerApi } from './api';
import { registerOrchestrators } from './orchestrators';
import { registerScheduler } from './scheduler';

export function registerFunctions(): void {
  registerOrchestrators();
  registerStepActivities();
  registerApi();
  registerScheduler();
}
