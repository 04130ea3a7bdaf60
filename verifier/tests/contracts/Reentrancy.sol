// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// A vault whose `withdraw` sends value before it zeroes the balance, guarded by a lock in
/// transient storage (EIP-1153).
contract Vault {
    mapping(address => uint256) public balances;
    bool transient locked;

    function deposit() external payable {
        balances[msg.sender] += msg.value;
    }

    function withdraw() external {
        require(!locked, "reentrant call");
        locked = true;
        uint256 amount = balances[msg.sender];
        (bool ok, ) = msg.sender.call{value: amount}("");
        require(ok, "send failed");
        balances[msg.sender] = 0;
        locked = false;
    }
}

/// Tries to withdraw twice by re-entering from its receive function.
contract Attacker {
    Vault public vault;
    uint256 public reentered;
    uint256 public blocked;

    constructor(Vault v) {
        vault = v;
    }

    function attack() external payable {
        vault.deposit{value: msg.value}();
        vault.withdraw();
    }

    receive() external payable {
        if (reentered + blocked == 0) {
            try vault.withdraw() {
                reentered = 1;
            } catch {
                blocked = 1;
            }
        }
    }
}
