// durable-pipelines: everything one deployment needs, in one resource group.
//   azd up                                    (azure.yaml at the repo root)
//   az deployment group create -g <rg> -f infra/main.bicep -p environmentName=<name> alertEmail=<you@x>
// No connection string, account key or instrumentation key is created or stored: the app runs as
// a user-assigned identity with data-plane roles (infra/app/rbac.bicep).
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(40)
@description('Environment name (azd env name): tags every resource and seeds the unique resource names.')
param environmentName string

@description('Azure region for every resource (must offer Flex Consumption).')
param location string = resourceGroup().location

@description('Function App name; empty derives func-<token>. Globally unique.')
param functionAppName string = ''

@description('Object id of the person or group who sets pipeline secrets (gets Key Vault Secrets Officer); empty for none. azd fills in the signed-in user.')
param principalId string = ''

@description('Principal type of principalId.')
@allowed(['User', 'Group', 'ServicePrincipal'])
param principalType string = 'User'

@description('Email notified when a run fails or a schedule slot fires late; empty for no notification.')
param alertEmail string = ''

@description('Durable storage backend: AzureStorage (default, the app\'s storage account) or DurableTaskScheduler (managed; Node supports it with extension bundle 4.32.0+).')
@allowed(['AzureStorage', 'DurableTaskScheduler'])
param durableBackend string = 'AzureStorage'

@description('Durable task hub name: letters and digits, 3-45 characters, starting with a letter. Two apps sharing a storage account need different hubs.')
@minLength(3)
@maxLength(45)
param durableTaskHub string = 'durablepipelines'

@description('Deploy the dbt-core Container Apps Job (registry, environment, job, roles).')
param enableDbtJob bool = true

@description('dbt image (e.g. <registry>.azurecr.io/dbt-job:1); empty deploys a placeholder until you build infra/dbt-job with az acr build.')
param dbtImage string = ''

@description('Integrate the app (and the dbt environment) with a new VNet for outbound traffic.')
param enableVnet bool = false

@description('Maximum Function App instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per Function App instance in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Prefix of the run-record tables.')
param runStoreTablePrefix string = 'dp'

@description('Days run records and Durable history are kept.')
@minValue(1)
param runRetentionDays int = 90

@description('Fire schedules (false pauses every schedule of this app; manual runs still work).')
param schedulerEnabled bool = true

@description('Seconds a resolved secret stays cached in memory.')
@minValue(0)
param secretCacheTtlSeconds int = 300

@description('Application log level (pino).')
@allowed(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
param logLevel string = 'info'

@description('Days logs are kept in Log Analytics.')
@minValue(30)
param logRetentionDays int = 30

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName, app: 'durable-pipelines' }
var appName = !empty(functionAppName) ? functionAppName : 'func-${token}'
var storageName = 'st${token}'
var deploymentContainerName = 'app-package'
var dbtResultsContainerName = 'dbt-results'

module identity 'app/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-${token}'
    location: location
    tags: tags
  }
}

module vnet 'app/vnet.bicep' = if (enableVnet) {
  name: 'vnet'
  params: {
    name: 'vnet-${token}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageName
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    dbtResultsContainerName: dbtResultsContainerName
  }
}

module keyVault 'app/keyVault.bicep' = {
  name: 'keyVault'
  params: {
    name: 'kv-${token}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-${token}'
    applicationInsightsName: 'appi-${token}'
    location: location
    tags: tags
    retentionInDays: logRetentionDays
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    secretsOfficerPrincipalId: principalId
    secretsOfficerPrincipalType: principalType
  }
}

module durableTaskScheduler 'app/durableTaskScheduler.bicep' = if (durableBackend == 'DurableTaskScheduler') {
  name: 'durableTaskScheduler'
  params: {
    name: 'dts-${token}'
    location: location
    tags: tags
    taskHubName: durableTaskHub
    principalId: identity.outputs.principalId
  }
}

module dbtJob 'app/dbtJob.bicep' = if (enableDbtJob) {
  name: 'dbtJob'
  params: {
    location: location
    tags: tags
    registryName: 'cr${token}'
    environmentName: 'cae-${token}'
    jobName: 'dbt-${token}'
    image: dbtImage
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    identityPrincipalId: identity.outputs.principalId
    logAnalyticsResourceId: monitoring.outputs.logAnalyticsResourceId
    keyVaultUri: keyVault.outputs.uri
    resultsContainerUrl: '${storage.outputs.blobEndpoint}${dbtResultsContainerName}'
    infrastructureSubnetId: enableVnet ? vnet!.outputs.jobsSubnetId : ''
  }
}

module functionApp 'app/functionApp.bicep' = {
  name: 'functionApp'
  params: {
    name: appName
    planName: 'plan-${token}'
    location: location
    tags: tags
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    keyVaultUri: keyVault.outputs.uri
    durableTaskHub: durableTaskHub
    durableBackend: durableBackend
    durableTaskSchedulerEndpoint: durableBackend == 'DurableTaskScheduler' ? durableTaskScheduler!.outputs.endpoint : ''
    runStoreTablePrefix: runStoreTablePrefix
    runRetentionDays: runRetentionDays
    schedulerEnabled: schedulerEnabled
    secretCacheTtlSeconds: secretCacheTtlSeconds
    logLevel: logLevel
    dbtJobResourceId: enableDbtJob ? dbtJob!.outputs.jobResourceId : ''
    dbtResultsContainerUrl: '${storage.outputs.blobEndpoint}${dbtResultsContainerName}'
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    virtualNetworkSubnetId: enableVnet ? vnet!.outputs.appSubnetId : ''
  }
  // The host starts as soon as the app exists: its identity must already hold the storage roles.
  dependsOn: [rbac]
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  params: {
    location: location
    tags: tags
    applicationInsightsResourceId: monitoring.outputs.applicationInsightsResourceId
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    tags: tags
    applicationInsightsResourceId: monitoring.outputs.applicationInsightsResourceId
    alertEmail: alertEmail
    namePrefix: 'dp-${token}'
  }
}

@description('Function App name (func azure functionapp publish <this>).')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('Base URL of the HTTP API.')
output API_BASE_URL string = 'https://${functionApp.outputs.defaultHostName}/api'

@description('Key Vault holding the pipeline secrets (az keyvault secret set --vault-name <this>).')
output KEY_VAULT_NAME string = keyVault.outputs.name

@description('Resource group of the deployment.')
output AZURE_RESOURCE_GROUP string = resourceGroup().name

@description('Client id of the app identity (the Snowflake workload-identity subject uses its object id).')
output AZURE_CLIENT_ID string = identity.outputs.clientId

@description('Object (principal) id of the app identity: the SUBJECT of a Snowflake WORKLOAD_IDENTITY user.')
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId

@description('Container registry for the dbt image (az acr build -r <this>); empty when the dbt job is off.')
output DBT_REGISTRY_NAME string = enableDbtJob ? dbtJob!.outputs.registryName : ''

@description('Resource id of the dbt Container Apps Job; empty when the dbt job is off.')
output DBT_JOB_RESOURCE_ID string = enableDbtJob ? dbtJob!.outputs.jobResourceId : ''
