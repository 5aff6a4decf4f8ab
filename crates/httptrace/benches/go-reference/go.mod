module httptrace-go-reference

go 1.18
