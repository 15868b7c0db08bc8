// Storage for the Functions host (task hub queues/tables/blobs, timer leases), the Flex deployment
// package, run records (Table Storage) and dbt results. Shared keys are off: every caller uses
// Entra ID (the app's managed identity), so there is no account key to leak or rotate.

@description('Storage account name (3-24 lowercase letters and digits).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Blob container the dbt job writes run_results.json into.')
param dbtResultsContainerName string

@description('Blob container the public dbt image downloads the dbt project archive from.')
param dbtProjectContainerName string

@description('When true, public network access is denied except for trusted Azure services (use with the VNet option and private endpoints).')
param restrictNetwork bool = false

module storage 'br/public:avm/res/storage/storage-account:0.27.1' = {
  name: '${uniqueString(deployment().name, location)}-storageAccount'
  params: {
    name: name
    location: location
    tags: tags
    kind: 'StorageV2'
    skuName: 'Standard_LRS'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: restrictNetwork ? 'Disabled' : 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: restrictNetwork ? 'Deny' : 'Allow'
    }
    blobServices: {
      containers: [
        { name: deploymentContainerName, publicAccess: 'None' }
        { name: dbtResultsContainerName, publicAccess: 'None' }
        { name: dbtProjectContainerName, publicAccess: 'None' }
      ]
    }
  }
}

output name string = storage.outputs.name
output resourceId string = storage.outputs.resourceId
output blobEndpoint string = 'https://${name}.blob.${environment().suffixes.storage}/'
output tableEndpoint string = 'https://${name}.table.${environment().suffixes.storage}'
