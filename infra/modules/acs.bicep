// Azure Communication Services: the phone number is bought and attached to this resource
// outside the template (docs/deploy.md); the app calls Call Automation as its identity.
param name string
param tags object
param callerPrincipalId string

@description('Where ACS stores data at rest.')
param dataLocation string = 'United States'

// Call Automation with a Microsoft Entra token: the identity needs Contributor on the resource.
var contributorRole = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b24988ac-6180-42a0-ab88-20f7382dd24c')

resource acs 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

resource caller 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(acs.id, callerPrincipalId, contributorRole)
  scope: acs
  properties: {
    principalId: callerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: contributorRole
  }
}

output id string = acs.id
output endpoint string = 'https://${acs.properties.hostName}/'
@description('The audience of the JWTs ACS signs callbacks and media connections with (ACS_RESOURCE_ID).')
output immutableResourceId string = acs.properties.immutableResourceId
