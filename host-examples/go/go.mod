module slicegate.example/client

go 1.19
