/**
 * Rules the development host takes from the Durable extension's own code, one function each, so
 * the host fails, answers and words things where and as Azure does. Sources:
 * Azure/azure-functions-durable-extension (dev branch), Azure/durabletask, Azure/azure-functions-host.
 */
import type { RuntimeStatus } from './types';

// ---- custom status size ----------------------------------------------------------------------

/** `DurableOrchestrationContext.SetCustomStatus`: `const int MaxCustomStatusPayloadSizeInKB = 16`. */
export const MAX_CUSTOM_STATUS_KB = 16;

/**
 * The error the extension raises for a custom status over the limit, or undefined when it fits.
 * `MessagePayloadDataConverter.Serialize(value, maxSizeInKB)`:
 * `payloadSizeInKB = (int)(Encoding.Unicode.GetByteCount(serializedJson) / 1024.0)`, an
 * ArgumentException when `payloadSizeInKB > maxSizeInKB` (so up to 17,407 bytes pass). UTF-16 is
 * two bytes per JavaScript string unit. The extension re-serializes the worker's JSON with
 * Newtonsoft (no indentation, the same escapes as JSON.stringify); we measure JSON.stringify.
 */
export function customStatusSizeError(customStatus: unknown): string | undefined {
  if (customStatus === undefined || customStatus === null) return undefined; // `if (execution.CustomStatus != null)`
  const json = JSON.stringify(customStatus) ?? '';
  const sizeInKB = Math.trunc((2 * json.length) / 1024);
  if (sizeInKB <= MAX_CUSTOM_STATUS_KB) return undefined;
  // string.Format("{0:N0}") groups thousands
  const n = (value: number): string => value.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return `The UTF-16 size of the JSON-serialized payload must not exceed ${n(MAX_CUSTOM_STATUS_KB)} KB. The current payload size is ${n(sizeInKB)} KB.`;
}

/**
 * What the orchestration's failure reads when its custom status is refused. `OutOfProcOrchestrationShim.
 * ScheduleDurableTaskEvents` calls SetCustomStatus first thing; from a normal wake-up
 * (`TaskOrchestrationShim.InvokeUserCodeAndHandleResults`, generic catch) the ArgumentException is
 * wrapped as `Orchestrator function '<name>' failed: <message>`. When the orchestrator itself threw,
 * the replay runs inside `catch (OrchestrationFailureException)`, which does not catch it: DTFx's
 * `TaskOrchestrationContext.FailOrchestration` records the bare message. Either way the status's
 * output is that text (the ExecutionCompleted `Result`) and the custom status stays the last one
 * accepted.
 */
export function customStatusFailure(orchestratorName: string, sizeError: string, orchestratorThrew: boolean): string {
  return orchestratorThrew ? sizeError : `Orchestrator function '${orchestratorName}' failed: ${sizeError}`;
}

// ---- activity failures -----------------------------------------------------------------------

/** `RpcException(result, message, stack)` of azure-functions-host: `Result: {result}\nException: {message}\nStack: {stack}`. */
export function rpcExceptionMessage(message: string, stack: string | undefined): string {
  return `Result: Failure\nException: ${message}\nStack: ${stack ?? ''}`;
}

/**
 * `OutOfProcExceptionHelpers.TryGetExceptionWithFriendlyMessage`: the text between the first
 * "\nException:" and the first "\nStack:" of the RpcException's message (its leading space
 * included), cut before "\n\n$OutOfProcData$:". Undefined when the message is not an RpcException's.
 */
export function friendlyOutOfProcMessage(rpcMessage: string): string | undefined {
  const messageLabel = '\nException:';
  const stackLabel = '\nStack:';
  if (!rpcMessage.startsWith('Result:') || !rpcMessage.includes(messageLabel) || !rpcMessage.includes(stackLabel)) return undefined;
  const start = rpcMessage.indexOf(messageLabel) + messageLabel.length;
  const end = rpcMessage.indexOf(stackLabel);
  // C# Substring(start, end - start) throws when end < start; that only happens for texts that
  // carry "\nStack:" before "\nException:", which an RpcException built as above never does.
  const message = rpcMessage.slice(start, Math.max(start, end));
  const data = message.indexOf('\n\n$OutOfProcData$:');
  return data === -1 ? message : message.slice(0, data);
}

/**
 * `TaskActivityShim.RunAsync` for a user-code error: `TaskFailureException("Activity function
 * '<name>' failed: " + friendly.Message, Utils.SerializeCause(friendly))`, where `friendly` is a
 * System.Exception wrapping the worker's RpcException. So Reason carries the worker's
 * `error.message` after two spaces (the label's own and RpcException's).
 */
export function activityFailureReason(name: string, rpcMessage: string): string {
  return `Activity function '${name}' failed: ${friendlyOutOfProcMessage(rpcMessage) ?? rpcMessage}`;
}

// ---- HTTP API --------------------------------------------------------------------------------

/**
 * `HttpApiHandler.HandleGetStatusRequestAsync`: 202 while Pending/Running/ContinuedAsNew/Suspended;
 * 200 when Completed, Terminated or Canceled; Failed is 200 unless `returnInternalServerErrorOnFailure`.
 */
export function statusHttpCode(status: RuntimeStatus, returnInternalServerErrorOnFailure: boolean): number {
  switch (status) {
    case 'Pending':
    case 'Running':
    case 'ContinuedAsNew':
      return 202;
    case 'Failed':
      return returnInternalServerErrorOnFailure ? 500 : 200;
    default:
      return 200;
  }
}

/**
 * A start over an instance the host refuses to overwrite. DTFx.AzureStorage throws
 * `OrchestrationAlreadyExistsException` (an InvalidOperationException) with "An Orchestration
 * instance with the status <status> already exists."; `HttpApiHandler.HandleRequestAsync` has no
 * case for it, so its generic `catch (Exception e)` answers 500 through
 * `HttpRequestMessageExtensions.CreateErrorResponse(request, status, message, e)`.
 */
export function startConflictResponse(existingStatus: RuntimeStatus): { status: number; body: Record<string, string | null> } {
  return {
    status: 500,
    body: {
      Message: 'Something went wrong while processing your request',
      ExceptionMessage: `An Orchestration instance with the status ${existingStatus} already exists.`,
      ExceptionType: 'DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException',
      StackTrace: '   at DurableTask.AzureStorage.AzureStorageOrchestrationService.CreateTaskOrchestrationAsync(TaskMessage creationMessage, OrchestrationStatus[] dedupeStatuses)',
    },
  };
}
