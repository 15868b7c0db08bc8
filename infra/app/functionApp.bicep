// The Flex Consumption (FC1) Function App on Node 22, running as the user-assigned identity.
// Every app setting the code reads is set here (test/unit/consistency.test.ts checks it); none
// holds a key: storage, Key Vault, Tables and App Insights are reached with the identity.
//
// `Microsoft.Web/sites/config 'appsettings'` replaces the whole collection at every deployment:
// a setting put on the app by hand is gone after the next `azd provision`. So every setting the
// docs ask for is produced here, from parameters (azd environment values, main.parameters.json),
// resource ids, or Key Vault references (test/unit/provisionSettings.test.ts checks the docs).
//
// The site itself is a plain `Microsoft.Web/sites` resource rather than the AVM web/site module:
// its Flex-specific `functionAppConfig` (deployment container, always-ready, runtime) and the
// app-settings shape changed across AVM releases, and the settings below are the contract the
// consistency test reads. The plan uses the AVM serverfarm module.

@description('Function App name (globally unique; becomes <name>.azurewebsites.net).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string

@description('Tags applied to the plan and the app (the app also gets azd-service-name=api).')
param tags object

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityResourceId string

@description('Client id of that identity (AzureWebJobsStorage__clientId, AZURE_CLIENT_ID, App Insights auth).')
param identityClientId string

@description('Name of the storage account used by the host, the task hub and run records.')
param storageAccountName string

@description('Blob endpoint of that account, ending with a slash.')
param storageBlobEndpoint string

@description('Table endpoint of that account (run records).')
param storageTableEndpoint string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (an endpoint + resource id; ingestion still needs the identity because local auth is off).')
param applicationInsightsConnectionString string

@description('Key Vault URI (https://<vault>.vault.azure.net/).')
param keyVaultUri string

@description('Resource id of the Application Insights component: the console links each run to its Portal page.')
param applicationInsightsResourceId string

@description('Durable task hub name: letters and digits, 3-45 characters, starting with a letter.')
param durableTaskHub string

@description('Durable storage backend: AzureStorage (default) or DurableTaskScheduler.')
@allowed(['AzureStorage', 'DurableTaskScheduler'])
param durableBackend string = 'AzureStorage'

@description('Durable Task Scheduler endpoint (https://<scheduler>.<region>.durabletask.io); only with durableBackend=DurableTaskScheduler.')
param durableTaskSchedulerEndpoint string = ''

@description('Prefix of the run-record tables.')
param runStoreTablePrefix string = 'dp'

@description('Days run records and Durable history are kept.')
param runRetentionDays int = 90

@description('Whether the scheduler timer fires schedules (false pauses every schedule).')
param schedulerEnabled bool = true

@description('Seconds a resolved secret stays cached in memory.')
param secretCacheTtlSeconds int = 300

@secure()
@description('HMAC key that signs the API list cursors (src/api/cursors.ts). Every instance must share it, or a cursor from one instance is refused (400) by the next; a fresh random value per deployment is enough, since a cursor only lives for one paging session. newGuid() is allowed only as a parameter default.')
param cursorSigningKey string = '${newGuid()}${newGuid()}'

@description('pino log level.')
@allowed(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
param logLevel string = 'info'

@description('Resource id of the dbt Container Apps Job; empty when the dbt job is not deployed.')
param dbtJobResourceId string = ''

@description('URL of the blob container the dbt job writes results into.')
param dbtResultsContainerUrl string = ''

@description('Maximum instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per instance in MB (512, 2048 or 4096), shared by the Functions host and the Node worker. Billed per GB-second of active execution (docs/deploy.md).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Always-ready instances for the Durable trigger group. 0 scales to zero between runs (a cold start of seconds per wake-up); 1 keeps an instance warm, billed all month.')
@minValue(0)
param durableAlwaysReady int = 0

@description('Application (client) id of the Entra app registration for console sign-in (docs/deploy.md); empty = no App Service Authentication, the console door refuses everyone and keys work as before.')
param authClientId string = ''

@description('Name of the Key Vault secret holding that app registration\'s client secret; the app setting MICROSOFT_PROVIDER_AUTHENTICATION_SECRET references it (only with authClientId).')
param authClientSecretName string = 'easyauth-client-secret'

@description('Turn every change (run, cancel, rerun, pause, resume) off for everyone, keys included.')
param readOnly bool = false

@description('Subnet resource id for VNet integration (delegated to Microsoft.App/environments); empty for none.')
param virtualNetworkSubnetId string = ''

@description('Extra app settings other features add (merged last, cannot override the ones above).')
param extraAppSettings object = {}

module plan 'br/public:avm/res/web/serverfarm:0.7.0' = {
  name: '${uniqueString(deployment().name, location)}-serverfarm'
  params: {
    name: planName
    location: location
    tags: tags
    skuName: 'FC1'
    kind: 'functionapp'
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityResourceId}': {} }
  }
  properties: {
    serverFarmId: plan.outputs.resourceId
    httpsOnly: true
    keyVaultReferenceIdentity: identityResourceId
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: [
          { name: 'durable', instanceCount: durableAlwaysReady }
        ]
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Basic-auth publishing (FTP, SCM user/password) off: deployments use Entra tokens.
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

var useScheduler = durableBackend == 'DurableTaskScheduler'

// host.json selects Azure Storage; these documented host.json overrides switch the backend.
var durableSchedulerSettings = useScheduler
  ? {
      AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
      AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
      // Endpoint + identity selector only: no key exists for the scheduler.
      DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
    }
  : {}

var dbtSettings = empty(dbtJobResourceId)
  ? {}
  : {
      DBT_JOB_RESOURCE_ID: dbtJobResourceId
      DBT_RESULTS_CONTAINER_URL: dbtResultsContainerUrl
    }

// Sign-in's client secret stays in Key Vault: the platform resolves the reference with the app's
// identity (keyVaultReferenceIdentity above; Key Vault Secrets User in rbac.bicep). Versionless,
// so a new secret version is picked up without a deployment.
var authSettings = empty(authClientId)
  ? {}
  : {
      MICROSOFT_PROVIDER_AUTHENTICATION_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${authClientSecretName}/)'
    }

var coreSettings = {
  // Host storage (task hub, timers, leases) through the identity, not a connection string.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
  DURABLE_TASK_HUB: durableTaskHub
  AZURE_CLIENT_ID: identityClientId
  KEY_VAULT_URL: keyVaultUri
  RUN_STORE_TABLE_URL: storageTableEndpoint
  RUN_STORE_TABLE_PREFIX: runStoreTablePrefix
  RUN_RETENTION_DAYS: string(runRetentionDays)
  SCHEDULER_ENABLED: schedulerEnabled ? 'true' : 'false'
  SECRET_CACHE_TTL_SECONDS: string(secretCacheTtlSeconds)
  PUBLIC_BASE_URL: 'https://${site.properties.defaultHostName}'
  APPLICATIONINSIGHTS_PORTAL_URL: '${environment().portal}/#@${tenant().tenantId}/resource${applicationInsightsResourceId}'
  READ_ONLY: readOnly ? 'true' : 'false'
  LOG_LEVEL: logLevel
  CURSOR_SIGNING_KEY: cursorSigningKey
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(extraAppSettings, dbtSettings, durableSchedulerSettings, authSettings, coreSettings)
}

// Console sign-in (App Service Authentication with Entra ID), only once an app registration exists.
module auth 'auth.bicep' = if (!empty(authClientId)) {
  name: '${uniqueString(deployment().name, name)}-auth'
  params: {
    siteName: site.name
    clientId: authClientId
  }
  dependsOn: [appSettings]
}

output name string = site.name
output resourceId string = site.id
output defaultHostName string = site.properties.defaultHostName
