/**
 * Types for the parts of durable-functions the development host uses that the package does not
 * declare: its testing entry point (the real replay engine) and its OrchestratorState shape.
 */
declare module 'durable-functions/lib/src/util/testingUtils' {
  import type { InvocationContext } from '@azure/functions';
  import type { OrchestrationHandler } from 'durable-functions';

  /** The JSON the extension hands the worker for one orchestrator wake-up. */
  export interface OrchestrationTriggerPayload {
    history: unknown[];
    input: unknown;
    instanceId: string;
    isReplaying: boolean;
    parentInstanceId: string | undefined;
    maximumShortTimerDuration: string;
    longRunningTimerIntervalDuration: string;
    defaultHttpAsyncRequestSleepTimeMillseconds: number;
    upperSchemaVersion: number;
    upperSchemaVersionNew?: number;
  }

  export interface SdkOrchestratorState {
    isDone: boolean;
    actions: unknown[][];
    output: unknown;
    error?: string;
    customStatus?: unknown;
    schemaVersion: number;
  }

  export function createOrchestrator(
    fn: OrchestrationHandler,
  ): (trigger: OrchestrationTriggerPayload, context: InvocationContext) => Promise<SdkOrchestratorState>;
}

declare module 'durable-functions/lib/src/durableClient/DurableClient' {
  import type { DurableClient as PublicDurableClient } from 'durable-functions';

  /** The client's binding data as the extension hands it to a function (OrchestrationClientInputData). */
  export interface ClientBindingData {
    taskHubName: string;
    creationUrls: Record<string, string>;
    managementUrls: Record<string, string>;
    baseUrl: string;
    requiredQueryStringParameters: string;
    rpcBaseUrl: string;
  }

  export const DurableClient: new (clientData: ClientBindingData) => PublicDurableClient;
}
