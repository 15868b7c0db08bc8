// Blob-created triggers: an Event Grid system topic on the storage account where exports land, and
// one subscription delivering Microsoft.Storage.BlobCreated events of the pipelines' containers to
// the app's webhook (src/triggers/eventGrid.ts) in the Event Grid schema.
//
// Identity-based, no key: the subscription is a WebHook secured with Microsoft Entra ID — Event
// Grid asks a token for the console sign-in app registration (audience api://<authClientId>, which
// App Service Authentication accepts: auth.bicep) and sends it on every request, the validation
// handshake included ("Deliver events to Microsoft Entra protected endpoints",
// learn.microsoft.com/azure/event-grid/secure-webhook-delivery). The endpoint is the console door,
// where the app admits only a principal holding the app role Pipelines.Events; that role is
// assigned to Event Grid's service principal in Entra, not in ARM (docs/triggers.md gives the one
// command). Least privilege: Event Grid gets no role on the storage account or the app beyond that
// one app role; the app's identity needs nothing new to receive events.
//
// Retries and expiry as Event Grid's defaults (30 attempts, 24 h), written out so they are seen;
// 400/401/403/413 are not retried by Event Grid, which is why the app answers 400 only to bodies
// that can never be read. UNVERIFIED here (no Azure subscription): the deployment, the token's
// roles claim arriving through App Service Authentication for an application principal.

@description('Name of the Event Grid system topic.')
param name string

@description('Region of the source storage account: a system topic lives in its source\'s region.')
param location string

@description('Tags for the system topic.')
param tags object = {}

@description('Resource id of the storage account whose blob-created events start pipelines.')
param sourceStorageAccountId string

@description('Blob containers the pipelines\' blobCreated triggers name: the subscription delivers events of these only.')
param containers array

@description('Host name of the Function App (its defaultHostName).')
param functionAppHostName string

@description('Application (client) id of the console sign-in app registration: Event Grid asks a token for api://<this>.')
param authClientId string

@description('Directory (tenant) id of that app registration.')
param tenantId string = tenant().tenantId

module systemTopic 'br/public:avm/res/event-grid/system-topic:0.7.0' = {
  name: '${uniqueString(deployment().name, location)}-systemTopic'
  params: {
    name: name
    location: location
    tags: tags
    source: sourceStorageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
    eventSubscriptions: [
      {
        name: 'blob-created-to-pipelines'
        eventDeliverySchema: 'EventGridSchema'
        destination: {
          endpointType: 'WebHook'
          properties: {
            endpointUrl: 'https://${functionAppHostName}/api/console/events/blob-created'
            azureActiveDirectoryTenantId: tenantId
            azureActiveDirectoryApplicationIdOrUri: 'api://${authClientId}'
            maxEventsPerBatch: 1
            preferredBatchSizeInKilobytes: 64
          }
        }
        filter: {
          includedEventTypes: ['Microsoft.Storage.BlobCreated']
          // Only the triggers' containers: one subject prefix per container.
          advancedFilters: [
            {
              operatorType: 'StringBeginsWith'
              key: 'subject'
              values: [for container in containers: '/blobServices/default/containers/${container}/blobs/']
            }
          ]
        }
        retryPolicy: {
          maxDeliveryAttempts: 30
          eventTimeToLiveInMinutes: 1440
        }
      }
    ]
  }
}

@description('Resource id of the system topic.')
output systemTopicId string = systemTopic.outputs.resourceId
