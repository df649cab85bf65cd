package sqlstore

// SearchTrigrams exposes searchTrigrams to the external tests.
var SearchTrigrams = searchTrigrams
