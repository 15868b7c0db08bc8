export { createNotifier, type Notifier, type NotifierDeps, type NotifyResult } from './notifier';
export { runEventFromState, type RunEvent, type RunEventKind } from './event';
export { slackPayload, teamsPayload, factsOf, formatDuration } from './format';
