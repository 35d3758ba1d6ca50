// Azure Cache for Redis: TLS only (rediss:// on 6380), Microsoft Entra auth only (no access
// keys): the app connects with REDIS_ENTRA=true as its identity's object id.
param name string
param location string
param tags object
param appPrincipalId string

@description('Object id of a person given data access for operations; empty for none.')
param operatorPrincipalId string = ''

@allowed(['Standard', 'Premium'])
param skuName string = 'Standard'

@minValue(0)
param capacity int = 1

resource redis 'Microsoft.Cache/redis@2024-03-01' = {
  // checkov:skip=CKV_AZURE_89: the consumption Container Apps environment has no VNet for a private endpoint; TLS only, access keys disabled, Microsoft Entra access policies only (docs/deploy.md, Hardening)
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: skuName
      family: skuName == 'Premium' ? 'P' : 'C'
      capacity: capacity
    }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    disableAccessKeyAuthentication: true
    redisVersion: '6'
    redisConfiguration: {
      'aad-enabled': 'true'
    }
  }
}

resource appAccess 'Microsoft.Cache/redis/accessPolicyAssignments@2024-03-01' = {
  parent: redis
  name: 'parley-app'
  properties: {
    accessPolicyName: 'Data Contributor'
    objectId: appPrincipalId
    objectIdAlias: 'parley-app'
  }
}

resource operatorAccess 'Microsoft.Cache/redis/accessPolicyAssignments@2024-03-01' = if (!empty(operatorPrincipalId)) {
  parent: redis
  name: 'parley-operator'
  properties: {
    accessPolicyName: 'Data Reader'
    objectId: operatorPrincipalId
    objectIdAlias: 'parley-operator'
  }
  dependsOn: [appAccess]
}

output hostName string = redis.properties.hostName
output sslPort int = redis.properties.sslPort
