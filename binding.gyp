{
  "targets": [
    {
      "target_name": "vipd_native",
      "sources": ["native/vipd_native.c"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
