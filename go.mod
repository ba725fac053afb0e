module github.com/sipcause/sipcause

go 1.26.0

require go.yaml.in/yaml/v3 v3.0.6

require (
	github.com/gopacket/gopacket v1.7.7 // indirect
	golang.org/x/net v0.55.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/term v0.48.0 // indirect
)
