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

// Regions with Flex Consumption, as listed by Microsoft's azd Flex template
// (Azure-Samples/functions-quickstart-typescript-azd, infra/main.bicep, last changed 2025-05-07).
// The list grows: `az functionapp list-flexconsumption-locations` gives today's; add a region here
// when it appears there.
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'eastus2euap'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@description('Azure region for every resource: one that offers Flex Consumption.')
@metadata({ azd: { type: 'location' } })
param location string = resourceGroup().location

@description('Function App name; empty derives func-<token>. Globally unique.')
param functionAppName string = ''

@description('Object id of the person, group or CI principal who sets pipeline secrets (Key Vault Secrets Officer) and uploads the dbt project (Storage Blob Data Contributor on dbt-project); empty for none. azd fills in the signed-in principal.')
param principalId string = ''

@description('Principal type of principalId. azd fills in AZURE_PRINCIPAL_TYPE: User when a person signed in, ServicePrincipal in CI (Azure/azure-dev cli/azd/pkg/infra/provisioning/current_principal_id_provider.go).')
@allowed(['User', 'Group', 'ServicePrincipal'])
param principalType string = 'User'

@description('Key Vault name; empty derives kv-<token>. Set a new name to start with an empty vault while the old one is still soft-deleted (3-24 letters, digits and hyphens, globally unique).')
@maxLength(24)
param keyVaultName string = ''

@description('default creates the vault; recover restores the soft-deleted vault of the same name (after azd down, whose vault purge protection keeps for its retention days) with its secrets. Set it back to default once recovered.')
@allowed(['default', 'recover'])
param keyVaultCreateMode string = 'default'

@description('Email notified when a run fails or a schedule slot fires late; empty for no notification.')
param alertEmail string = ''

@description('Durable storage backend: AzureStorage (default, the app\'s storage account) or DurableTaskScheduler (managed; Node supports it with extension bundle 4.32.0+).')
@allowed(['AzureStorage', 'DurableTaskScheduler'])
param durableBackend string = 'AzureStorage'

@description('Durable task hub name: letters and digits, 3-45 characters, starting with a letter. Two apps sharing a storage account need different hubs.')
@minLength(3)
@maxLength(45)
param durableTaskHub string = 'durablepipelines'

@description('Deploy the dbt-core Container Apps Job (environment, job, roles; a registry only with dbtUsePrivateRegistry).')
param enableDbtJob bool = true

@description('Custom dbt image built from infra/dbt-job (e.g. <registry>.azurecr.io/dbt-job:1). Empty (default): the public dbt image runs and downloads the project from the dbt-project container.')
param dbtImage string = ''

@description('Create a private container registry (Basic, about 5 USD a month) for a custom dbt image. Off by default: the public image needs none.')
param dbtUsePrivateRegistry bool = false

@description('Integrate the app (and the dbt environment) with a new VNet for outbound traffic.')
param enableVnet bool = false

@description('Application (client) id of the Entra app registration for console sign-in (docs/deploy.md); empty leaves App Service Authentication off, and the API takes function keys only.')
param authClientId string = ''

@description('Key Vault secret holding the console sign-in app registration\'s client secret (docs/deploy.md); referenced by the app setting MICROSOFT_PROVIDER_AUTHENTICATION_SECRET when authClientId is set.')
param authClientSecretName string = 'easyauth-client-secret'

@description('Turn every change (run, cancel, rerun, pause, resume) off for everyone, keys included.')
param readOnly bool = false

@description('Resource id of the storage account whose blob-created events start pipelines (blobCreated triggers, docs/triggers.md); empty deploys no Event Grid resources. Needs authClientId: delivery is Entra-authenticated, with no key.')
param eventsStorageAccountId string = ''

@description('Region of that storage account (its system topic lives there); empty = location.')
param eventsLocation string = ''

@description('Containers the blobCreated triggers name (durable-pipelines validate lists them); only their events are delivered.')
param eventsContainers array = []

@description('Maximum Function App instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per Function App instance in MB, shared by the Functions host and the Node worker; drives the GB-second bill. 2048: on 512 the app (measured peak ~190 MB RSS with 10 concurrent runs) and the host (~180-230 MB, estimated) leave under 25 % free (docs/deploy.md).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Always-ready instances for the Durable trigger group. 0 (default) scales to zero: each wake-up pays a cold start of seconds, which a nightly batch does not notice. 1 keeps one instance warm and is billed all month (about 20 EUR at 2048 MB).')
@minValue(0)
param durableAlwaysReady int = 0

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
var dbtProjectContainerName = 'dbt-project'
var dbtProjectArchiveName = 'project.tar.gz'

// Module deployment names: each is '<hash of the parent deployment's name>-<module>', the pattern
// AVM modules use inside themselves. A module named like a module it calls is rejected as
// DeploymentActive (Azure/bicep#10816); the hash keeps names unique per provision and far below
// ARM's 64 characters. test/unit/bicepDeploymentNames.test.ts checks every chain.

module identity 'app/identity.bicep' = {
  name: '${uniqueString(deployment().name, location)}-identity'
  params: {
    name: 'id-${token}'
    location: location
    tags: tags
  }
}

module vnet 'app/vnet.bicep' = if (enableVnet) {
  name: '${uniqueString(deployment().name, location)}-vnet'
  params: {
    name: 'vnet-${token}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: '${uniqueString(deployment().name, location)}-storage'
  params: {
    name: storageName
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    dbtResultsContainerName: dbtResultsContainerName
    dbtProjectContainerName: dbtProjectContainerName
  }
}

module keyVault 'app/keyVault.bicep' = {
  name: '${uniqueString(deployment().name, location)}-keyVault'
  params: {
    name: !empty(keyVaultName) ? keyVaultName : 'kv-${token}'
    createMode: keyVaultCreateMode
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: '${uniqueString(deployment().name, location)}-monitoring'
  params: {
    logAnalyticsName: 'log-${token}'
    applicationInsightsName: 'appi-${token}'
    location: location
    tags: tags
    retentionInDays: logRetentionDays
  }
}

module rbac 'app/rbac.bicep' = {
  name: '${uniqueString(deployment().name, location)}-rbac'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    secretsOfficerPrincipalId: principalId
    secretsOfficerPrincipalType: principalType
    dbtProjectContainerName: enableDbtJob ? dbtProjectContainerName : ''
  }
}

module durableTaskScheduler 'app/durableTaskScheduler.bicep' = if (durableBackend == 'DurableTaskScheduler') {
  name: '${uniqueString(deployment().name, location)}-durableTaskScheduler'
  params: {
    name: 'dts-${token}'
    location: location
    tags: tags
    taskHubName: durableTaskHub
    principalId: identity.outputs.principalId
  }
}

module dbtJob 'app/dbtJob.bicep' = if (enableDbtJob) {
  name: '${uniqueString(deployment().name, location)}-dbtJob'
  params: {
    location: location
    tags: tags
    usePrivateRegistry: dbtUsePrivateRegistry
    registryName: 'cr${token}'
    environmentName: 'cae-${token}'
    jobName: 'dbt-${token}'
    image: dbtImage
    projectArchiveUrl: '${storage.outputs.blobEndpoint}${dbtProjectContainerName}/${dbtProjectArchiveName}'
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
  name: '${uniqueString(deployment().name, location)}-functionApp'
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
    applicationInsightsResourceId: monitoring.outputs.applicationInsightsResourceId
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
    durableAlwaysReady: durableAlwaysReady
    virtualNetworkSubnetId: enableVnet ? vnet!.outputs.appSubnetId : ''
    authClientId: authClientId
    authClientSecretName: authClientSecretName
    readOnly: readOnly
  }
  // The host starts as soon as the app exists: its identity must already hold the storage roles.
  dependsOn: [rbac]
}

module events 'app/events.bicep' = if (!empty(eventsStorageAccountId) && !empty(authClientId) && !empty(eventsContainers)) {
  name: '${uniqueString(deployment().name, location)}-events'
  params: {
    name: 'evgt-${token}'
    location: empty(eventsLocation) ? location : eventsLocation
    tags: tags
    sourceStorageAccountId: eventsStorageAccountId
    containers: eventsContainers
    functionAppHostName: functionApp.outputs.defaultHostName
    authClientId: authClientId
  }
}

module workbook 'app/workbook.bicep' = {
  name: '${uniqueString(deployment().name, location)}-workbook'
  params: {
    location: location
    tags: tags
    applicationInsightsResourceId: monitoring.outputs.applicationInsightsResourceId
  }
}

module alerts 'app/alerts.bicep' = {
  name: '${uniqueString(deployment().name, location)}-alerts'
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

@description('Container registry for a custom dbt image (az acr build -r <this>); empty unless dbtUsePrivateRegistry.')
output DBT_REGISTRY_NAME string = enableDbtJob ? dbtJob!.outputs.registryName : ''

@description('Where the public dbt image reads the dbt project from (az storage blob upload --auth-mode login); empty when the dbt job is off.')
output DBT_PROJECT_URL string = enableDbtJob ? '${storage.outputs.blobEndpoint}${dbtProjectContainerName}/${dbtProjectArchiveName}' : ''

@description('Resource id of the dbt Container Apps Job; empty when the dbt job is off.')
output DBT_JOB_RESOURCE_ID string = enableDbtJob ? dbtJob!.outputs.jobResourceId : ''
