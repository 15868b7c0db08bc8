// Optional VNet: one subnet for the Function App's outbound integration (Flex Consumption
// delegates to Microsoft.App/environments) and one for the dbt Container Apps environment.

@description('Virtual network name.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the network.')
param tags object

@description('Address space of the network.')
param addressPrefix string = '10.40.0.0/16'

@description('Prefix of the Function App integration subnet.')
param appSubnetPrefix string = '10.40.1.0/24'

@description('Prefix of the Container Apps environment subnet (/27 or larger).')
param jobsSubnetPrefix string = '10.40.2.0/24'

resource vnet 'Microsoft.Network/virtualNetworks@2024-01-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          delegations: [
            { name: 'flex', properties: { serviceName: 'Microsoft.App/environments' } }
          ]
          serviceEndpoints: [
            { service: 'Microsoft.Storage' }
            { service: 'Microsoft.KeyVault' }
          ]
        }
      }
      {
        name: 'jobs'
        properties: {
          addressPrefix: jobsSubnetPrefix
          delegations: [
            { name: 'aca', properties: { serviceName: 'Microsoft.App/environments' } }
          ]
        }
      }
    ]
  }
}

output appSubnetId string = '${vnet.id}/subnets/app'
output jobsSubnetId string = '${vnet.id}/subnets/jobs'
